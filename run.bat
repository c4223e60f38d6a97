@echo off
rem ZIT Desktop launcher and set-up for Windows.
rem   run.bat          set up (first time only) and open the app
rem   run.bat test     set up, then run the whole test suite
rem   run.bat ARGS     set up, then run "zit-desktop ARGS" (e.g. run.bat doctor)
rem Delayed expansion stays off: it would eat "!" in prompts and folder names.
setlocal EnableExtensions DisableDelayedExpansion
set "ORIG=%CD%"
cd /d "%~dp0"
set "VENV=%~dp0.venv"
set "PY=%~dp0.venv\Scripts\python.exe"
if not defined ZIT_TORCH_VERSION set "ZIT_TORCH_VERSION=2.14.1"
rem torchvision must be the build made for this torch (spandrel, the upscaler library, imports it)
if not defined ZIT_TORCHVISION_VERSION set "ZIT_TORCHVISION_VERSION=0.29.1"
if not defined ZIT_TORCH_CUDA_INDEX set "ZIT_TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128"

if exist "%PY%" goto :have_venv
call :find_python
if errorlevel 1 goto :nopython
echo [zit-desktop] creating .venv
%BASEPY% -m venv "%VENV%"
if errorlevel 1 goto :venvfail
:have_venv

set "FLAVOUR=cpu"
if defined ZIT_TORCH_FLAVOUR set "FLAVOUR=%ZIT_TORCH_FLAVOUR%"
if not defined ZIT_TORCH_FLAVOUR (
    nvidia-smi -L >nul 2>nul && set "FLAVOUR=cuda"
)

"%PY%" "%~dp0packaging\deps_stamp.py" "%ZIT_TORCH_VERSION% %ZIT_TORCHVISION_VERSION%" "%FLAVOUR%" > "%VENV%\.zit-want"
if errorlevel 1 goto :installfail
set "WANT="
set /p WANT=<"%VENV%\.zit-want"
if not defined WANT goto :installfail
set "HAVE="
if exist "%VENV%\.zit-deps" set /p HAVE=<"%VENV%\.zit-deps"
if "%HAVE%"=="%WANT%" goto :ready

echo [zit-desktop] installing dependencies (torch %ZIT_TORCH_VERSION%, %FLAVOUR% build); the first time takes a while
rem A different torch build than last time (a driver was installed, say): replace it, or pip keeps the old one.
set "FORCE="
set "TORCH_HAVE="
if exist "%VENV%\.zit-torch" set /p TORCH_HAVE=<"%VENV%\.zit-torch"
if defined TORCH_HAVE if not "%TORCH_HAVE%"=="%ZIT_TORCH_VERSION% %FLAVOUR%" set "FORCE=--force-reinstall"
rem A CPU-only torch from before the NVIDIA driver was installed (no stamp yet): replace it too.
if "%FLAVOUR%"=="cuda" if not defined FORCE "%PY%" -c "import sys, torch; sys.exit(0 if torch.version.cuda is None else 1)" >nul 2>nul && set "FORCE=--force-reinstall"
if "%FLAVOUR%"=="cuda" goto :torch_cuda
"%PY%" -m pip install -q --disable-pip-version-check %FORCE% "torch==%ZIT_TORCH_VERSION%" "torchvision==%ZIT_TORCHVISION_VERSION%"
if errorlevel 1 goto :installfail
goto :torch_done
:torch_cuda
"%PY%" -m pip install -q --disable-pip-version-check %FORCE% --index-url "%ZIT_TORCH_CUDA_INDEX%" "torch==%ZIT_TORCH_VERSION%" "torchvision==%ZIT_TORCHVISION_VERSION%"
if errorlevel 1 goto :installfail
:torch_done
> "%VENV%\.zit-torch" echo %ZIT_TORCH_VERSION% %FLAVOUR%
"%PY%" -m pip install -q --disable-pip-version-check -e ".[test]"
if errorlevel 1 goto :installfail
> "%VENV%\.zit-deps" echo %WANT%

:ready
if /i "%~1"=="test" goto :test
if "%~1"=="" goto :gui
rem Commands run from the caller's folder (relative file names), with -P so files there can't shadow modules.
cd /d "%ORIG%"
"%PY%" -P -m zit_desktop %*
exit /b %errorlevel%

:test
set "QT_QPA_PLATFORM=offscreen"
"%PY%" -m pytest -q %2 %3 %4 %5 %6 %7 %8 %9
exit /b %errorlevel%

:gui
start "" "%~dp0.venv\Scripts\pythonw.exe" -P -m zit_desktop gui
exit /b 0

:find_python
set "BASEPY="
where py >nul 2>nul
if not errorlevel 1 (
    py -3 -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>nul
    if not errorlevel 1 set "BASEPY=py -3"
)
if defined BASEPY exit /b 0
where python >nul 2>nul
if not errorlevel 1 (
    python -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" >nul 2>nul
    if not errorlevel 1 set "BASEPY=python"
)
if defined BASEPY exit /b 0
exit /b 1

:nopython
echo [zit-desktop] error: Python 3.11 or newer is needed. Install it from python.org (tick "Add python.exe to PATH") and run again.
pause
exit /b 1

:venvfail
echo [zit-desktop] error: could not create the virtual environment in "%VENV%".
pause
exit /b 1

:installfail
echo [zit-desktop] error: installing dependencies failed. Check your internet connection and run again.
pause
exit /b 1
